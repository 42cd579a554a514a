package main

import (
	"runner/engine"
	"runner/envconfig"
	"runner/modelstore"
)

// storeOptions fills the model store's options from the environment
// registry: the Hub (HF_ENDPOINT), the shared cache (HF_HUB_CACHE), the
// token (HF_TOKEN), offline mode (HF_HUB_OFFLINE), and the device, which
// decides the default variant.
func (a *app) storeOptions(device engine.Device) modelstore.Options {
	gpu := false
	if device != engine.CPU {
		// Default variants follow the device runner will actually use.
		if d, err := engine.ResolveDevice(device, ""); err == nil && d != engine.CPU {
			gpu = true
		}
	}
	return modelstore.Options{
		Endpoint:        envconfig.HFEndpoint(),
		CacheDir:        envconfig.HFHubCache(),
		Token:           envconfig.HFToken(),
		Offline:         envconfig.HFOffline(),
		DisableSymlinks: envconfig.HFDisableSymlinks(),
		GPU:             gpu,
		HeadTimeout:     envconfig.HFEtagTimeout(),
		ReadTimeout:     envconfig.HFDownloadTimeout(),
		UserAgent:       "runner/" + version,
		Logger:          a.logger(),
	}
}

// newStore opens the model store the environment describes, for the
// device RUNNER_DEVICE names.
func (a *app) newStore() (*modelstore.Store, error) {
	device, err := engine.ParseDevice(envconfig.Device())
	if err != nil {
		return nil, err
	}
	return a.openStore(device)
}

// openStore opens the model store for a device.
func (a *app) openStore(device engine.Device) (*modelstore.Store, error) {
	return modelstore.New(a.storeOptions(device))
}
