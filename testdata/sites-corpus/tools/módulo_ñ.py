from app.core import deploy_app

# File name with non-ASCII characters: paths are reported as UTF-8 text.
valor = deploy_app("ñ")
