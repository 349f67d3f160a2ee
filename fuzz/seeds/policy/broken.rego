package p
allow if {
