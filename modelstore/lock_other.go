//go:build !unix

package modelstore

import "os"

// tryLock reports that this platform has no flock, so acquireLock uses its
// exclusive-creation lock.
func tryLock(*os.File) (bool, error) { return false, errNoFlock }

func unlock(*os.File) {}
