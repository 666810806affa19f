module github.com/bufev/bufev/backends/ssl

go 1.24.0
