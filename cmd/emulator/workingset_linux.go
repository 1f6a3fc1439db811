package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// pageSpan is one mapping of /proc/self/smaps: its addresses and how much
// of it is resident.
type pageSpan struct {
	start, end uintptr
	resident   int64 // bytes
}

// trimBinaryPages drops the pages of the running binary that are mapped
// read-only from its file out of the process's page tables
// (madvise(MADV_DONTNEED)), and returns how many bytes of them were
// resident. The kernel maps them again, from the page cache, when they are
// next used.
//
// Only a mapping that holds nothing but the file's own content is touched:
// one that is read-only, private, of the binary, and has no anonymous page
// (a page a relocation, a debugger's breakpoint or a uprobe wrote, which
// MADV_DONTNEED would put back to the file's content). Under a tracer
// (/proc/self/status TracerPid) nothing is trimmed: its breakpoints may
// come at any moment.
func trimBinaryPages() int64 {
	if traced() {
		return 0
	}
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0
	}
	var trimmed int64
	for _, s := range binaryPages(smaps, exe) {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, s.start, s.end-s.start, syscall.MADV_DONTNEED); e == 0 {
			trimmed += s.resident
		}
	}
	return trimmed
}

// binaryPages returns the mappings of /proc/PID/smaps (its text, smaps)
// that trimBinaryPages may drop: read-only private mappings of the file exe
// without an anonymous page.
func binaryPages(smaps []byte, exe string) []pageSpan {
	var spans []pageSpan
	var cur pageSpan
	keep := false // cur is a candidate so far
	flush := func() {
		if keep {
			spans = append(spans, cur)
		}
		keep = false
	}
	for line := range strings.Lines(string(smaps)) {
		line = strings.TrimRight(line, "\n")
		key, rest, _ := strings.Cut(line, " ")
		if !strings.HasSuffix(key, ":") { // a mapping's header
			flush()
			cur, keep = mapping(key, rest, exe)
			continue
		}
		if !keep {
			continue
		}
		switch key {
		case "Rss:":
			cur.resident = kilobytes(rest)
		case "Anonymous:":
			if kilobytes(rest) != 0 {
				keep = false
			}
		}
	}
	flush()
	return spans
}

// mapping parses a smaps header line, "start-end perms offset dev inode
// path" split after its addresses, and says whether it is a read-only
// private mapping of exe.
func mapping(addrs, rest, exe string) (pageSpan, bool) {
	lo, hi, ok := strings.Cut(addrs, "-")
	if !ok {
		return pageSpan{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return pageSpan{}, false
	}
	fields := strings.Fields(rest)
	if len(fields) < 5 {
		return pageSpan{}, false
	}
	perms := fields[0]
	if perms != "r-xp" && perms != "r--p" {
		return pageSpan{}, false
	}
	// The path is what follows the inode, spaces and all.
	path := rest
	for range 4 {
		path = strings.TrimLeft(path, " ")
		_, path, _ = strings.Cut(path, " ")
	}
	if strings.TrimLeft(path, " ") != exe {
		return pageSpan{}, false
	}
	return pageSpan{start: uintptr(start), end: uintptr(end)}, true
}

// kilobytes parses a smaps value such as "   8176 kB" into bytes; -1 when
// it is not one.
func kilobytes(v string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	if err != nil {
		return -1
	}
	return n << 10
}

// traced reports whether a debugger or tracer is attached to the process.
func traced() bool {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	_, after, ok := bytes.Cut(status, []byte("\nTracerPid:"))
	if !ok {
		return true
	}
	pid, _, _ := bytes.Cut(after, []byte("\n"))
	return string(bytes.TrimSpace(pid)) != "0"
}
