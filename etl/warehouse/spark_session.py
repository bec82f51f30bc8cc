"""The SparkSession the Spark engine runs on, built from the [spark] configuration (pyspark: `govindex[spark]`).

Semantics are pinned to DuckDB's, which the catalog's SQL is written for: the session time zone is UTC (warehouse
timestamps carry no zone, so none is applied), ANSI mode is off (x / 0 is NULL, not an error; DuckDB's is NaN or ±inf
in double, so the stage's shared SQL guards its divisions: indicator_values._interval_sql), and the Parquet timestamps
are read as written. The driver binds to `spark.local_ip` (127.0.0.1 by default), never to a public
address, and the web UI is off.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from etl.config import SparkConfig
from etl.errors import EtlError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkUnavailable(EtlError):
    """pyspark or Java is missing: install `govindex[spark]` and a Java 17 runtime."""


def session_conf(cfg: SparkConfig) -> dict[str, str]:
    """Every Spark setting the engine sets, by key (a test checks them; docs/scale.md explains them)."""
    return {
        "spark.master": cfg.master,
        "spark.app.name": "govindex",
        "spark.driver.memory": cfg.driver_memory,
        "spark.driver.host": cfg.local_ip,
        "spark.driver.bindAddress": cfg.local_ip,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.shuffle.partitions": str(cfg.shuffle_partitions),
        "spark.sql.autoBroadcastJoinThreshold": cfg.broadcast_threshold,
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    }


def spark_session(cfg: SparkConfig) -> SparkSession:
    """The process's SparkSession (created on first use, reused after: one JVM per process)."""
    try:
        # local: pyspark is the optional extra govindex[spark]; only the Spark engine needs it
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the Spark engine needs pyspark: pip install 'govindex[spark]' (and a Java 17 runtime)"
        ) from None
    # py4j's gateway and Spark's block manager read this before any configuration is applied
    os.environ.setdefault("SPARK_LOCAL_IP", cfg.local_ip)
    builder = SparkSession.builder
    for key, value in session_conf(cfg).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # py4j's and Java's launch errors have no common type
        raise SparkUnavailable(f"Spark could not start ({cfg.master}): {e}") from None
    spark.sparkContext.setLogLevel("ERROR")
    # py4j logs every gateway connection it opens and closes at INFO: noise in a refresh's log
    logging.getLogger("py4j").setLevel(logging.WARNING)
    return spark
