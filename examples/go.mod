module github.com/bufev/bufev/examples

go 1.26.0

require (
	github.com/bufev/bufev/backends/async v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/backends/socket v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/backends/ssl v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/bufferevent v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/evbuffer v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/eventbase v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/filters v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/ratelimit v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/bufev/bufev/backends/filter v0.0.0-00010101000000-000000000000 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace (
	github.com/bufev/bufev/backends/async => ../backends/async
	github.com/bufev/bufev/backends/filter => ../backends/filter
	github.com/bufev/bufev/backends/pair => ../backends/pair
	github.com/bufev/bufev/backends/socket => ../backends/socket
	github.com/bufev/bufev/backends/ssl => ../backends/ssl
	github.com/bufev/bufev/bufferevent => ../bufferevent
	github.com/bufev/bufev/evbuffer => ../evbuffer
	github.com/bufev/bufev/eventbase => ../eventbase
	github.com/bufev/bufev/filters => ../filters
	github.com/bufev/bufev/ratelimit => ../ratelimit
)
