"""Survey strand: read, validate and clean the export; weight; describe; fit the models."""
