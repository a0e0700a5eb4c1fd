// Package gluescripts ships the PySpark job with the Go module, so that a CDK
// app importing the constructs (go get) needs no path into this repository:
// consumer.FilterJob writes FilterLeads into the cloud assembly at synth time.
package gluescripts

import _ "embed"

// FilterLeadsFileName is the script's file name in the asset.
const FilterLeadsFileName = "filter_leads.py"

// FilterLeads is glue-scripts/filter_leads.py, the job's entry point.
//
//go:embed filter_leads.py
var FilterLeads []byte
