// Package examples holds runnable programs, one main package per directory.
package examples
