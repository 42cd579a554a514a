package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrMemoryUnknown is returned by AvailableMemory where the system does not
// say how much memory is available.
var ErrMemoryUnknown = errors.New("available memory unknown on this system")

// AvailableMemory reports how many bytes new models can take: the kernel's
// estimate of memory available without swapping (MemAvailable), or less
// when the process's control group (a container's limit) leaves less.
// It is meant for SchedulerConfig.FreeMemory; on systems other than Linux
// it returns ErrMemoryUnknown.
func AvailableMemory() (int64, error) {
	return availableMemory("/proc", "/sys/fs/cgroup")
}

// availableMemory reads procRoot/meminfo and the control group limits under
// cgroupRoot, for the process described by procRoot/self/cgroup.
func availableMemory(procRoot, cgroupRoot string) (int64, error) {
	avail, err := memAvailable(filepath.Join(procRoot, "meminfo"))
	if err != nil {
		return 0, err
	}
	if left, ok := cgroupLeft(filepath.Join(procRoot, "self", "cgroup"), cgroupRoot); ok {
		avail = min(avail, left)
	}
	return avail, nil
}

// memAvailable returns MemAvailable from a meminfo file, in bytes.
func memAvailable(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMemoryUnknown, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("%w: no MemAvailable in %s", ErrMemoryUnknown, path)
}

// cgroupLeft returns the memory left under the tightest limit of the
// process's control group and its parents (cgroup v2), or of its memory
// controller (cgroup v1). ok is false when no limit applies or none can
// be read.
func cgroupLeft(selfCgroup, root string) (left int64, ok bool) {
	data, err := os.ReadFile(selfCgroup)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(bytes.TrimSpace(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var limitFile, usageFile, cacheKey, dir string
		switch {
		case parts[0] == "0" && parts[1] == "": // v2
			limitFile, usageFile, cacheKey, dir = "memory.max", "memory.current", "inactive_file", filepath.Join(root, parts[2])
		case hasController(parts[1], "memory"): // v1
			limitFile, usageFile, cacheKey, dir = "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file", filepath.Join(root, "memory", parts[2])
		default:
			continue
		}
		// Walk up to the root: a parent's limit binds its children too.
		for d := filepath.Clean(dir); strings.HasPrefix(d, filepath.Clean(root)); d = filepath.Dir(d) {
			limit, lok := readBytes(filepath.Join(d, limitFile))
			usage, uok := readBytes(filepath.Join(d, usageFile))
			// v1 writes "no limit" as a huge number.
			if lok && uok && limit < 1<<60 {
				// Usage counts the page cache; its inactive part is
				// given back under pressure, as docker stats reckons.
				usage -= statValue(filepath.Join(d, "memory.stat"), cacheKey)
				l := max(limit-usage, 0)
				if !ok || l < left {
					left, ok = l, true
				}
			}
			if d == filepath.Clean(root) {
				break
			}
		}
	}
	return left, ok
}

// statValue returns key's value in a memory.stat file, or 0.
func statValue(path, key string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readBytes reads a control group file holding a number of bytes ("max"
// reads as not a limit).
func readBytes(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 64)
	return n, err == nil
}
