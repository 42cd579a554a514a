package bench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// runNode runs an ES module script with node in env.NodeDir, so its bare
// imports resolve to the reference tools, and returns its stdout.
func runNode(ctx context.Context, env Env, script string, stdin []byte, args ...string) ([]byte, error) {
	if env.NodeDir == "" {
		return nil, fmt.Errorf("RUNNER_TEST_NODE_DIR is not set: run benchmarks with make bench")
	}
	cmd := exec.CommandContext(ctx, "node", append([]string{"--input-type=module", "-e", script, "--"}, args...)...)
	cmd.Dir = env.NodeDir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("node: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
