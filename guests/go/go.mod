module faultbox/guests/go

go 1.24
