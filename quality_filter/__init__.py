"""quality_filter"""
