package bufferevent

import (
	"fmt"
	"slices"
	"sync"

	"github.com/bufev/bufev/eventbase"
)

// Opener creates a bufferevent of one registered type from a base and
// options alone, for Open. Types that need more to be built (a filter needs
// the bufferevent it filters) register an Opener that explains which
// constructor to use and returns an error matching errors.ErrUnsupported.
// Open calls it on its caller's goroutine; the result follows the usual
// rules (loop-confined unless opts has ThreadSafe).
type Opener func(base *eventbase.Base, opts Options) (*BufferEvent, error)

var (
	registryMu sync.RWMutex
	registry   = make(map[string]Opener)
)

// Register makes a bufferevent type available under name, like sql.Register.
// Backend packages call it from init; a program may register its own type
// the same way, and the core then treats it exactly like the built-in ones.
// New refuses type names that were not registered.
//
// Register panics if open is nil, if name is empty, or if name is already
// registered. Safe for concurrent use.
func Register(name string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if open == nil {
		panic("bufferevent: Register opener is nil")
	}
	if name == "" {
		panic("bufferevent: Register with an empty type name")
	}
	if _, dup := registry[name]; dup {
		panic("bufferevent: Register called twice for type " + name)
	}
	registry[name] = open
}

// Types returns the registered type names, sorted. Safe for concurrent use.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Open creates a bufferevent of the registered type typ on base with its
// Opener (a socket bufferevent without an fd, one end of a pair, ...). An
// unregistered name fails with an error wrapping ErrUnknownType whose text
// ends in "(forgotten import?)": the backend package must be imported, e.g.
// import _ "github.com/bufev/bufev/backends/socket". Safe for concurrent use;
// the new bufferevent is loop-confined unless opts has ThreadSafe.
func Open(base *eventbase.Base, typ string, opts Options) (*BufferEvent, error) {
	open, err := lookup(typ)
	if err != nil {
		return nil, err
	}
	if base == nil {
		return nil, ErrNilBase
	}
	return open(base, opts)
}

func lookup(typ string) (Opener, error) {
	registryMu.RLock()
	open, ok := registry[typ]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (forgotten import?)", ErrUnknownType, typ)
	}
	return open, nil
}

// unregisterAllTypes empties the registry; for tests.
func unregisterAllTypes() {
	registryMu.Lock()
	defer registryMu.Unlock()
	clear(registry)
}
