module github.com/bufev/bufev/eventbase

go 1.24.0
