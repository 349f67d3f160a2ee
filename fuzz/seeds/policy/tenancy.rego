# Orders: a caller may only touch its own tenant's orders, reads need orders:read, writes
# need orders:write, and deletes are for admin applications only (from the data document).
package orders.tenancy

import rego.v1

default decision := {"allow": false, "reason": "not allowed"}

decision := {"allow": true, "headers": {"x-tenant": tenant}} if {
	tenant == input.request.params.tenant
	required_scope in input.principal.scopes
	not forbidden_delete
}

decision := {"allow": false, "status": 404, "reason": "no such tenant"} if {
	tenant != input.request.params.tenant
}

tenant := input.principal.claims.tenant

required_scope := "orders:read" if input.request.method in {"GET", "HEAD"}

required_scope := "orders:write" if not input.request.method in {"GET", "HEAD"}

forbidden_delete if {
	input.request.method == "DELETE"
	not input.principal.client_id in data.orders.admins
}
