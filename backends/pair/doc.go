// Package pair provides in-memory connected pairs of bufferevents.
package pair
