package cache

import (
	"fmt"
	"sync/atomic"
)

// sized is a draft stand-in with a given size.
type sized struct {
	name string
	n    int64
}

func (s sized) Bytes() int64 { return s.n }

// fakeSession is an engine session stand-in that records how it was used.
type fakeSession struct {
	id     int
	bytes  atomic.Int64
	closed atomic.Int32 // times Close was called
	busy   atomic.Bool  // set by the test while it holds the session
}

func newFakeSession(id int, bytes int64) *fakeSession {
	s := &fakeSession{id: id}
	s.bytes.Store(bytes)
	return s
}

func (s *fakeSession) Bytes() int64 { return s.bytes.Load() }

func (s *fakeSession) Close() error {
	if s.busy.Load() {
		panic(fmt.Sprintf("session %d closed while checked out", s.id))
	}
	if s.closed.Add(1) > 1 {
		return fmt.Errorf("session %d closed twice", s.id)
	}
	return nil
}
