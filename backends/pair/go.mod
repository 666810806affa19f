module github.com/bufev/bufev/backends/pair

go 1.24.0
