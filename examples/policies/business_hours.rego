# Batch jobs may call only between 06:00 and 22:00 UTC on weekdays; everyone else any time.
package orders.business_hours

import rego.v1

default allow := false

allow if not batch_job

allow if {
	batch_job
	not time.weekday(input.time.unix_ns) in {"Saturday", "Sunday"}
	[hour, _, _] := time.clock(input.time.unix_ns)
	hour >= 6
	hour < 22
}

batch_job if input.principal.metadata.kind == "batch"
