module github.com/bufev/bufev/backends/socket

go 1.26.0

require (
	github.com/bufev/bufev/bufferevent v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/evbuffer v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/eventbase v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.50.0
)

require github.com/bufev/bufev/ratelimit v0.0.0-00010101000000-000000000000

replace (
	github.com/bufev/bufev/bufferevent => ../../bufferevent
	github.com/bufev/bufev/evbuffer => ../../evbuffer
	github.com/bufev/bufev/eventbase => ../../eventbase
	github.com/bufev/bufev/ratelimit => ../../ratelimit
)
