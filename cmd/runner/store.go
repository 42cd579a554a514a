package main

import (
	"runner/engine"
	"runner/envconfig"
	"runner/modelstore"
)

// openStore returns the model store configured by the environment: the Hub
// (HF_ENDPOINT), the shared cache (HF_HUB_CACHE), the token (HF_TOKEN),
// offline mode (HF_HUB_OFFLINE), and the device for choosing variants.
func (a *app) openStore(device engine.Device) (*modelstore.Store, error) {
	gpu := false
	if device != engine.CPU {
		// Default variants follow the device runner will actually use.
		if d, err := engine.ResolveDevice(device, ""); err == nil && d != engine.CPU {
			gpu = true
		}
	}
	return modelstore.New(modelstore.Options{
		Endpoint:        envconfig.HFEndpoint(),
		CacheDir:        envconfig.HFHubCache(),
		Token:           envconfig.HFToken(),
		Offline:         envconfig.HFOffline(),
		DisableSymlinks: envconfig.HFDisableSymlinks(),
		GPU:             gpu,
		UserAgent:       "runner/" + version,
		Logger:          a.logger(),
	})
}
