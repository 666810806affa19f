// Package filters holds ready-made filters (compression, framing) for the filter backend.
package filters
