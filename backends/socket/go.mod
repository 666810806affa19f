module github.com/bufev/bufev/backends/socket

go 1.24.0
