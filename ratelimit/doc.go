// Package ratelimit holds token-bucket configurations, buckets and groups for bufferevents.
package ratelimit
