// Package engine runs ONNX models through ONNX Runtime. It is the only
// package that talks to ONNX Runtime (through onnxruntime_go); everything
// above it sees Go tensors and errors.
//
// # Basics
//
// A process loads ONNX Runtime once with [Open], which finds the shared
// library ([FindLibrary]), and closes it with [Runtime.Close]. A [Session] is
// one loaded model ([Runtime.NewSession]); it is safe for concurrent use, and
// [Session.Run] feeds it named [Tensor]s and returns named tensors.
//
//	rt, err := engine.Open(engine.Config{})
//	...
//	defer rt.Close()
//	s, err := rt.NewSession(ctx, "onnx/model.onnx", engine.SessionOptions{})
//	...
//	defer s.Close()
//	out, err := s.Run(ctx, engine.Inputs{"input_ids": ids, "attention_mask": mask}, nil)
//
// # Ownership
//
// Every ONNX Runtime object has one owner and is destroyed exactly once:
// sessions by [Session.Close] (which waits for runs in flight), values made
// for a run when the run returns. Tensors handed to callers are plain Go
// memory. A constructor that fails destroys what it had made.
//
// # Caveats
//
// ONNX Runtime's environment is process-wide state: [Open] counts references
// to it, and every Runtime in a process must use the same library.
// Cancelling the context of a [Session.Run] terminates the run inside ONNX
// Runtime; the call returns once ONNX Runtime has stopped.
package engine
