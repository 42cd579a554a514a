// Package modelstore manages models in the Hugging Face hub cache: it pulls
// them from the Hub (or any mirror) over the Hub's own protocol, and lists,
// shows, resolves and removes them.
//
// # Sharing the cache with Python
//
// The cache is the one Python's huggingface_hub uses (HF_HUB_CACHE), written
// exactly as Python writes it: blobs named by their etag, snapshots of
// relative symlinks, refs of 40 hex characters without a newline, lock files
// under .locks/, trees/<commit>.json listings. A model fetched by either
// tool is found by the other without a new download.
//
// # References
//
// Models are named [hf.co/]ORG/NAME[:VARIANT][@REVISION] (see [ParseRef]).
// A variant (package quant) picks the ONNX files: q8 is
// onnx/model_quantized.onnx, q4 onnx/model_q4.onnx and so on, with their
// external data files. Without a variant, the best for the device is chosen.
// A local directory laid out like a Hub repository is a reference too.
//
// # Using a Store
//
//	st, err := modelstore.New(modelstore.Options{CacheDir: dir, Endpoint: url})
//	m, err := st.Pull(ctx, "Xenova/all-MiniLM-L6-v2:q8", modelstore.PullOptions{Progress: fn})
//	m, err = st.Resolve(ctx, "Xenova/all-MiniLM-L6-v2", modelstore.ResolveOptions{Pull: true})
//	// m.Dir is the snapshot; m.Graph() the ONNX file to load.
//
// The errors a user can act on are sentinels (ErrRepoNotFound, ErrGated,
// ErrRevisionNotFound, ErrVariantNotFound, ErrDiskFull, ErrOfflineNotCached
// and more), to be tested with errors.Is.
//
// The mirror subpackage serves a directory of repositories, or this cache,
// over the same protocol.
package modelstore
