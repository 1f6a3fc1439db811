package main

import (
	"os"
	"testing"
)

// TestBinaryPages: only read-only private mappings of the binary with no
// anonymous page are candidates, whatever else smaps holds.
func TestBinaryPages(t *testing.T) {
	const exe = "/tmp/my dir/emulator (deleted)"
	smaps := `00400000-00cbc000 r-xp 00000000 fd:01 1234   /tmp/my dir/emulator (deleted)
Size:               8944 kB
Rss:                8176 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
00cbc000-0161b000 r--p 008bc000 fd:01 1234   /tmp/my dir/emulator (deleted)
Size:               9596 kB
Rss:                7740 kB
Anonymous:            16 kB
VmFlags: rd mr mw me
0161b000-016c2000 rw-p 0121b000 fd:01 1234   /tmp/my dir/emulator (deleted)
Rss:                 668 kB
Anonymous:           120 kB
016c2000-0370a000 rw-p 00000000 00:00 0
Rss:                 184 kB
Anonymous:           184 kB
7f30fa3ae000-7f30fa504000 r-xp 00026000 fd:01 99     /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 968 kB
Anonymous:             0 kB
7f30fa57b000-7f30fa57d000 r-xp 00000000 00:00 0      [vdso]
Rss:                   8 kB
Anonymous:             0 kB
7f40fa57b000-7f40fa58b000 r--p 01000000 fd:01 1234   /tmp/my dir/emulator (deleted)
Rss:                  12 kB
Anonymous:             0 kB
`
	got := binaryPages([]byte(smaps), exe)
	want := []pageSpan{
		{start: 0x400000, end: 0xcbc000, resident: 8176 << 10},
		{start: 0x7f40fa57b000, end: 0x7f40fa58b000, resident: 12 << 10},
	}
	if len(got) != len(want) {
		t.Fatalf("binaryPages = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("span %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := binaryPages([]byte(smaps), "/tmp/my dir/emulator"); len(got) != 0 {
		t.Errorf("another path's mappings taken: %+v", got)
	}
}

// TestTrimBinaryPages trims the test binary's own pages: most of what was
// resident is no longer, and the code goes on running from the pages it
// maps back.
func TestTrimBinaryPages(t *testing.T) {
	if traced() {
		t.Skip("under a tracer: nothing is trimmed")
	}
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Skip("no /proc/self/exe:", err)
	}
	resident := func() int64 {
		t.Helper()
		smaps, err := os.ReadFile("/proc/self/smaps")
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, s := range binaryPages(smaps, exe) {
			n += s.resident
		}
		return n
	}
	before := resident()
	if before < 1<<20 {
		t.Fatalf("%d bytes of the binary resident before: smaps not read as expected", before)
	}
	trimmed := trimBinaryPages()
	after := resident()
	t.Logf("binary pages resident: %d KiB before, %d KiB after; trimBinaryPages: %d KiB", before>>10, after>>10, trimmed>>10)
	if trimmed < before/2 {
		t.Errorf("trimBinaryPages gave %d KiB of %d KiB resident", trimmed>>10, before>>10)
	}
	if after > before/2 {
		t.Errorf("%d KiB of %d KiB still resident after the trim", after>>10, before>>10)
	}
}
