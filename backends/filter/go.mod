module github.com/bufev/bufev/backends/filter

go 1.24.0
