package engine

import (
	"errors"
	"path/filepath"
	"testing"

	"runner/internal/testenv"
)

func TestAvailableMemory(t *testing.T) {
	const meminfo = "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:    8000000 kB\n"
	const gib = int64(1) << 30
	cases := map[string]struct {
		files map[string]string
		want  int64
	}{
		"no control group": {map[string]string{"proc/meminfo": meminfo}, 8000000 << 10},
		"v2 without a limit": {map[string]string{
			"proc/meminfo": meminfo, "proc/self/cgroup": "0::/app\n",
			"cg/app/memory.max": "max\n", "cg/app/memory.current": "1000\n",
		}, 8000000 << 10},
		"v2 limit, page cache given back": {map[string]string{
			"proc/meminfo": meminfo, "proc/self/cgroup": "0::/app\n",
			"cg/app/memory.max": "4294967296\n", "cg/app/memory.current": "3221225472\n",
			"cg/app/memory.stat": "anon 100\ninactive_file 536870912\nactive_file 7\n",
		}, 4*gib - 3*gib + gib/2},
		"v2 parent's limit binds": {map[string]string{
			"proc/meminfo": meminfo, "proc/self/cgroup": "0::/pod/app\n",
			"cg/pod/memory.max": "2147483648", "cg/pod/memory.current": "1610612736",
			"cg/pod/app/memory.max": "max", "cg/pod/app/memory.current": "100",
		}, gib / 2},
		"v2 over its limit": {map[string]string{
			"proc/meminfo": meminfo, "proc/self/cgroup": "0::/\n",
			"cg/memory.max": "1000", "cg/memory.current": "5000",
		}, 0},
		"v1 limit": {map[string]string{
			"proc/meminfo": meminfo, "proc/self/cgroup": "5:devices:/\n4:cpuacct,memory:/job\n0::/\n",
			"cg/memory/job/memory.limit_in_bytes": "3221225472", "cg/memory/job/memory.usage_in_bytes": "1073741824",
			"cg/memory/job/memory.stat": "cache 9\ntotal_inactive_file 1073741824\n",
		}, 3 * gib},
		"v1 no limit": {map[string]string{
			"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/job\n",
			"cg/memory/job/memory.limit_in_bytes": "9223372036854771712", "cg/memory/job/memory.usage_in_bytes": "1073741824",
		}, 8000000 << 10},
		"v1 group not mounted under its path": {map[string]string{
			"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/host/path/of/container\n",
			"cg/memory/memory.limit_in_bytes": "2147483648", "cg/memory/memory.usage_in_bytes": "1073741824",
		}, gib},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			testenv.WriteFiles(t, root, c.files)
			got, err := availableMemory(filepath.Join(root, "proc"), filepath.Join(root, "cg"))
			if err != nil || got != c.want {
				t.Fatalf("got %d (%v), want %d", got, err, c.want)
			}
		})
	}
	root := t.TempDir()
	testenv.WriteFiles(t, root, map[string]string{"proc/meminfo": "MemTotal: 5 kB\n"})
	if _, err := availableMemory(filepath.Join(root, "proc"), filepath.Join(root, "cg")); !errors.Is(err, ErrMemoryUnknown) {
		t.Fatalf("meminfo without MemAvailable: %v", err)
	}
	if _, err := availableMemory(filepath.Join(root, "nothing"), root); !errors.Is(err, ErrMemoryUnknown) {
		t.Fatalf("no meminfo: %v", err)
	}
}
