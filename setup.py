"""The one compiled part of semipose, optional: region-of-interest JPEG decoding against the
system libjpeg(-turbo) (semipose/data/_jpeg_region.c). Without a C compiler or the libjpeg
headers the build skips it with a warning and semipose decodes whole JPEGs instead
(`python -m semipose.data.jpeg_region` says which is in use). Everything else is in pyproject.toml."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("semipose.data._jpeg_region", ["semipose/data/_jpeg_region.c"],
                             libraries=["jpeg"], optional=True)])
