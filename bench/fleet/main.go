// Command fleet writes the fixtures bench/run starts the emulator with,
// and the machine ids wrk posts to:
//
//   - fleet.yaml: one tenant (the default fixture's tenant and SOAR app,
//     the scripts of bench/run's load and of bench/startup, as in
//     fixtures/default.yaml, in its library) with
//     generateMachines: N (--machines);
//   - machines.txt: the ids of those N generated machines, one a line, in
//     order: machine i has id hex(sha1("<tenant id>/<i>"))
//     (fixtures/README.md, generateMachines);
//   - large.yaml (with --large M): the same tenant with M machines written
//     out in plain YAML, ~20 fields each, the big fleet of the start-up
//     measure; large-machines.txt its ids.
//
// It uses the standard library only.
//
//	fleet --dir DIR [--machines 400000] [--large 100000]
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

const (
	// tenantID is the tenant of the fixtures: the default fixture's.
	tenantID = "8ac829e3-bb83-48d7-8cfb-45ebe834d8e1"
	// clientID is the tenant's app, the default fixture's SOAR app.
	clientID = "0120a4f9-196a-4f9e-b9f5-23f31f914da7"
	// maxMachines bounds --machines and --large: the fixture format's
	// bound on generateMachines per tenant in a file.
	maxMachines = 1_000_000
)

// header is the start of both fixtures: the tenant and its app.
const header = `# Written by bench/fleet for bench/run.
tenants:
  - id: ` + tenantID + `
    name: contoso
    apps:
      - clientId: ` + clientID + `
        clientSecret: emulator-secret
        displayName: SOAR Automation
        roles: [Machine.LiveResponse, Machine.Read.All, Machine.ReadWrite.All]
    library:
      - fileName: minidump.ps1
        hasParameters: true
        content: Write-Output minidump
      - fileName: Get-Processes.ps1
        content: Get-Process
`

func main() {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	dir := fs.String("dir", "", "where to write the files (required)")
	machines := fs.Int("machines", 400_000, "generated machines of fleet.yaml (1 to 1,000,000)")
	large := fs.Int("large", 0, "machines written out in large.yaml (0: no large.yaml; at most 1,000,000)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := run(*dir, *machines, *large); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

// run writes the files of main's doc comment into dir.
func run(dir string, machines, large int) error {
	if dir == "" {
		return fmt.Errorf("--dir is required")
	}
	if machines < 1 || machines > maxMachines {
		return fmt.Errorf("--machines must be 1 to %d, not %d", maxMachines, machines)
	}
	if large < 0 || large > maxMachines {
		return fmt.Errorf("--large must be 0 to %d, not %d", maxMachines, large)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err := writeFile(filepath.Join(dir, "fleet.yaml"), func(w *bufio.Writer) {
		w.WriteString(header)
		fmt.Fprintf(w, "    generateMachines: %d\n", machines)
	})
	if err != nil {
		return err
	}
	err = writeFile(filepath.Join(dir, "machines.txt"), func(w *bufio.Writer) {
		for i := 1; i <= machines; i++ {
			w.WriteString(GeneratedID(tenantID, i))
			w.WriteByte('\n')
		}
	})
	if err != nil || large == 0 {
		return err
	}
	err = writeFile(filepath.Join(dir, "large.yaml"), func(w *bufio.Writer) {
		w.WriteString(header)
		w.WriteString("    machines:\n")
		for i := range large {
			writeLargeMachine(w, i)
		}
	})
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "large-machines.txt"), func(w *bufio.Writer) {
		for i := range large {
			w.WriteString(largeID(i))
			w.WriteByte('\n')
		}
	})
}

// GeneratedID returns the id of generated machine number i (from 1) of
// tenant: hex(sha1("<tenant>/<i>")), as the fixture format defines it.
func GeneratedID(tenant string, i int) string {
	sum := sha1.Sum([]byte(tenant + "/" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

// largeID returns the id of machine i (from 0) of large.yaml.
func largeID(i int) string {
	sum := sha1.Sum(fmt.Appendf(nil, "large/%d", i))
	return hex.EncodeToString(sum[:])
}

// platforms are the osPlatform values large.yaml cycles through.
var platforms = []string{"Windows10", "Windows11", "WindowsServer2019", "WindowsServer2022", "Windows11", "Windows10"}

// writeLargeMachine writes machine i of large.yaml: the fields a real
// machine has, in the plain YAML that large fixtures are written in.
func writeLargeMachine(w *bufio.Writer, i int) {
	h := largeID(i)
	fmt.Fprintf(w, `      - id: %s
        computerDnsName: host-%06d.contoso.local
        osPlatform: %s
        osVersion: 10.0.22631.4317
        osProcessor: x64
        osArchitecture: 64-bit
        osBuild: 22631
        version: 23H2
        agentVersion: 10.8760.22631.4317
        riskScore: Low
        exposureLevel: Medium
        deviceValue: Normal
        aadDeviceId: %s-%s-%s-%s-%s
        machineTags: [Fleet, Site%d]
        lastIpAddress: 10.%d.%d.%d
        lastExternalIpAddress: 203.0.113.10
        macAddress: 00155D%s
        firstSeen: 2025-01-01T00:00:00Z
        lastSeen: 2025-06-01T08:55:00Z
        isAadJoined: true
        managedBy: Intune
        defenderAvStatus: Updated
`, h, i, platforms[i%len(platforms)], h[0:8], h[8:12], h[12:16], h[16:20], h[20:32],
		i%50, i>>16&255, i>>8&255, i&255, h[32:38])
}

// writeFile writes path through fill.
func writeFile(path string, fill func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
