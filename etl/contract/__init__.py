"""The data contract: raw tables, their pandera schemas, the data dictionary and the indicator catalog on disk."""
