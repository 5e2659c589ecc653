"""Progressive tool discovery: search the registered tools, generate code that calls them."""
