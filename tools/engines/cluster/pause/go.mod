// The pod sandbox ("pause") program for the single-node cluster's pause image (scripts/cluster/build.sh pause).
module github.com/switchyard/switchyard/tools/engines/cluster/pause

go 1.24.0
