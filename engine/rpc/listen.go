package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ListenUnix listens on a unix socket at path that only the current user can
// connect to (mode 0600). The socket is created in a private directory beside
// path, given its mode, and renamed into place, so there is no moment at
// which it is reachable with looser permissions, whatever the umask. A stale
// socket left by a dead engine is replaced; a live one is an error. Closing
// the listener removes the socket.
func ListenUnix(path string) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("rpc: listen: empty socket path")
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("rpc: listen %s: exists and is not a socket", path)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		cancel()
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("rpc: listen %s: an engine is already serving there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("rpc: listen %s: removing stale socket: %w", path, err)
		}
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".unmask-engine-")
	if err != nil {
		return nil, fmt.Errorf("rpc: listen %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("rpc: listen %s: %w", path, err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // it unlinks the name it was created with; see unixListener
	if err := os.Chmod(tmp, 0o600); err != nil {
		ul.Close()
		return nil, fmt.Errorf("rpc: listen %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ul.Close()
		return nil, fmt.Errorf("rpc: listen %s: %w", path, err)
	}
	return &unixListener{UnixListener: ul, path: path}, nil
}

// A unixListener removes its socket file when closed.
type unixListener struct {
	*net.UnixListener
	path string
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}
