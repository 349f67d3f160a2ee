package orders.business_hours_test

import rego.v1

import data.orders.business_hours

# 2027-01-15 is a Friday.
friday_noon := time.parse_rfc3339_ns("2027-01-15T12:00:00Z")

friday_night := time.parse_rfc3339_ns("2027-01-15T23:30:00Z")

saturday_noon := time.parse_rfc3339_ns("2027-01-16T12:00:00Z")

batch := {"client_id": "app_batch", "metadata": {"kind": "batch"}}

test_batch_job_in_hours if {
	business_hours.allow with input as {"principal": batch, "time": {"unix_ns": friday_noon}}
}

test_batch_job_at_night_is_refused if {
	not business_hours.allow with input as {"principal": batch, "time": {"unix_ns": friday_night}}
}

test_batch_job_on_saturday_is_refused if {
	not business_hours.allow with input as {"principal": batch, "time": {"unix_ns": saturday_noon}}
}

test_others_any_time if {
	business_hours.allow with input as {"principal": {"client_id": "app_web", "metadata": {}}, "time": {"unix_ns": saturday_noon}}
}
