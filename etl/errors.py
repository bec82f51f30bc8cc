"""Typed errors of the ETL: each names the culprit; only the CLI and the app turn them into messages."""

from __future__ import annotations


class EtlError(Exception):
    """Base class of every ETL error."""


class RejectedFileError(EtlError):
    """A source file cannot be read at all; it is rejected whole and the rest of the batch proceeds."""


class UnknownTableError(RejectedFileError):
    """The file name does not say which raw table the file holds."""


class UnsupportedFormatError(RejectedFileError):
    """The file is not CSV, XLSX or Parquet."""


class EmptyFileError(RejectedFileError):
    """The file has no bytes, or no header row."""


class EncodingError(RejectedFileError):
    """The file is neither UTF-8 nor GB18030 text (binary, or another encoding)."""


class ParseError(RejectedFileError):
    """The file's structure cannot be parsed (truncated Parquet/XLSX, broken CSV quoting, ...)."""


class MissingColumnsError(RejectedFileError):
    """Required columns of the table are absent from the file's header."""


class DuplicateColumnsError(RejectedFileError):
    """The header names the same column twice."""


class SourceNotFoundError(EtlError):
    """The source folder or file does not exist, or holds no file to ingest."""


class AccountingError(EtlError):
    """rows_in != rows_loaded + rows_quarantined + rows_duplicate for a file: a bug, never written."""
