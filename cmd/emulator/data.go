package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/internal/persist"
)

// dataFlags are the flags of persistence: --data, --data-clock,
// --data-reset, --data-compact-after.
type dataFlags struct {
	dir          *string
	clock        *string
	reset        *bool
	compactAfter *int
}

func addDataFlags(fs *flag.FlagSet) dataFlags {
	return dataFlags{
		dir: fs.String("data", "", "keep the state in DIR (emulator.db): it survives restarts and crashes; a change is answered once durable (default: in memory only)"),
		clock: fs.String("data-clock", emulator.DataClockResume,
			"with --data, what the clock does across the downtime: resume (go on where it stopped) or catch-up (a real clock moves on by the wall time that passed)"),
		reset: fs.Bool("data-reset", false, "with --data, start the store over from the fixtures, forgetting what it held"),
		compactAfter: fs.Int("data-compact-after", 0, fmt.Sprintf(
			"with --data, compact the store once its log holds N records: a new generation starts from a snapshot of the state (%d to %d; 0: %d)",
			emulator.MinDataCompactAfter, emulator.MaxDataCompactAfter, emulator.DefaultDataCompactAfter)),
	}
}

// apply sets opts' persistence from the flags; the flags that need
// --data are refused without it.
func (f dataFlags) apply(opts *emulator.Options) error {
	if *f.dir == "" {
		if *f.reset || *f.clock != emulator.DataClockResume || *f.compactAfter != 0 {
			return fmt.Errorf("--data-reset, --data-clock and --data-compact-after need --data")
		}
		return nil
	}
	if n := *f.compactAfter; n != 0 && (n < emulator.MinDataCompactAfter || n > emulator.MaxDataCompactAfter) {
		return fmt.Errorf("--data-compact-after must be %d to %d records (or 0: %d), not %d",
			emulator.MinDataCompactAfter, emulator.MaxDataCompactAfter, emulator.DefaultDataCompactAfter, n)
	}
	switch *f.clock {
	case emulator.DataClockResume, emulator.DataClockCatchUp:
	default:
		return fmt.Errorf("--data-clock must be resume or catch-up, not %q", *f.clock)
	}
	opts.Data, opts.DataClock, opts.DataReset, opts.DataCompactAfter = *f.dir, *f.clock, *f.reset, *f.compactAfter
	return nil
}

// printData writes the banner's line of the store opts keep the state in;
// nothing without --data.
func printData(w io.Writer, opts emulator.Options) {
	if opts.Data == "" {
		return
	}
	fmt.Fprintf(w, "  data:          %s  (the state survives restarts; --data-clock %s)\n", filepath.Join(opts.Data, persist.FileName), opts.DataClock)
}
