// Command runner serves small ONNX models from the Hugging Face Hub over the
// Ollama and OpenAI HTTP APIs, and manages them from the command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newApp(os.Stdin, os.Stdout, os.Stderr).run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
