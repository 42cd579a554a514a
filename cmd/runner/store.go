package main

import (
	"runner/envconfig"
	"runner/modelstore"
)

// storeOptions fills the model store's options from the environment
// registry.
func (a *app) storeOptions() modelstore.Options {
	return modelstore.Options{
		Endpoint:        envconfig.HFEndpoint(),
		CacheDir:        envconfig.HFHubCache(),
		Token:           envconfig.HFToken(),
		Offline:         envconfig.HFOffline(),
		DisableSymlinks: envconfig.HFDisableSymlinks(),
		GPU:             envconfig.Device() == "cuda",
		HeadTimeout:     envconfig.HFEtagTimeout(),
		ReadTimeout:     envconfig.HFDownloadTimeout(),
		UserAgent:       "runner/" + version,
		Logger:          a.logger(),
	}
}

// newStore opens the model store the environment describes.
func (a *app) newStore() (*modelstore.Store, error) {
	return modelstore.New(a.storeOptions())
}
