"""ringlab's simulator: virtual visitors and operators, links, scenarios, reports."""
