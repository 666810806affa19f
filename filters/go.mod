module github.com/bufev/bufev/filters

go 1.24.0
