module github.com/bufev/bufev/backends/ssl

go 1.26.0

require (
	github.com/bufev/bufev/backends/filter v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/backends/pair v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/backends/socket v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/bufferevent v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/evbuffer v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/eventbase v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/ratelimit v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace (
	github.com/bufev/bufev/backends/filter => ../filter
	github.com/bufev/bufev/backends/pair => ../pair
	github.com/bufev/bufev/backends/socket => ../socket
	github.com/bufev/bufev/bufferevent => ../../bufferevent
	github.com/bufev/bufev/evbuffer => ../../evbuffer
	github.com/bufev/bufev/eventbase => ../../eventbase
	github.com/bufev/bufev/ratelimit => ../../ratelimit
)
