"""The one gateway to Google. Nothing outside this package imports google-auth or googleapiclient."""
