module github.com/bufev/bufev/backends/async

go 1.24.0
