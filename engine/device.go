package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// Device is where a session runs.
type Device string

// Devices. CPU is always available; the others need their execution
// provider in the ONNX Runtime build and the hardware.
const (
	CPU      Device = "cpu"
	CUDA     Device = "cuda"
	CoreML   Device = "coreml"
	DirectML Device = "directml"
	// Auto picks the best device this machine offers.
	Auto Device = "auto"
)

// ParseDevice parses a device name as users write it (RUNNER_DEVICE).
func ParseDevice(s string) (Device, error) {
	switch d := Device(strings.ToLower(strings.TrimSpace(s))); d {
	case "":
		return Auto, nil
	case CPU, CUDA, CoreML, DirectML, Auto:
		return d, nil
	case "gpu":
		return CUDA, nil
	}
	return "", fmt.Errorf("unknown device %q (want cpu, cuda, coreml, directml or auto)", s)
}

// ResolveDevice turns a requested device into the one to try first: Auto
// becomes the platform's accelerator when its provider is installed beside
// the ONNX Runtime library at lib, else the CPU. Explicit requests are kept:
// if they fail, NewSession falls back to the CPU and says so.
func ResolveDevice(requested Device, lib string) (Device, error) {
	switch requested {
	case "", CPU:
		return CPU, nil
	case CUDA, CoreML, DirectML:
		return requested, nil
	case Auto:
		return autoDevice(lib), nil
	}
	return "", fmt.Errorf("unknown device %q", requested)
}

// autoDevice reports the accelerator whose provider ships with the library.
func autoDevice(lib string) Device {
	switch runtime.GOOS {
	case "darwin":
		return CoreML // built into the macOS library
	case "windows":
		if fileExists(filepath.Join(filepath.Dir(lib), "DirectML.dll")) {
			return DirectML
		}
	case "linux":
		if fileExists(filepath.Join(filepath.Dir(lib), "libonnxruntime_providers_cuda.so")) && cudaDevicePresent() {
			return CUDA
		}
	}
	return CPU
}

// cudaDevicePresent reports whether the NVIDIA driver exposes a device.
func cudaDevicePresent() bool {
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok && (v == "" || v == "-1") {
		return false
	}
	return fileExists("/dev/nvidia0") || fileExists("/proc/driver/nvidia/version")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// appendProvider adds the device's execution provider to so; CPU needs none.
func appendProvider(so *ort.SessionOptions, d Device, id int) error {
	switch d {
	case CPU:
		return nil
	case CUDA:
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("cuda provider options: %w", err)
		}
		defer cuda.Destroy()
		if err := cuda.Update(map[string]string{"device_id": strconv.Itoa(id)}); err != nil {
			return fmt.Errorf("cuda provider options: %w", err)
		}
		if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
			return fmt.Errorf("cuda provider: %w", err)
		}
	case CoreML:
		if err := so.AppendExecutionProviderCoreMLV2(map[string]string{}); err != nil {
			return fmt.Errorf("coreml provider: %w", err)
		}
	case DirectML:
		if err := so.AppendExecutionProviderDirectML(id); err != nil {
			return fmt.Errorf("directml provider: %w", err)
		}
	default:
		return fmt.Errorf("unknown device %q", d)
	}
	return nil
}
