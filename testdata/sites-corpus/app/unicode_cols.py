# -*- coding: utf-8 -*-
"""Columns are counted in Unicode characters (code points), not bytes."""
from app.core import deploy_app


def run(*a):
    return a


def get(*a):
    return a


def café(naïve):
    résumé = deploy_app(naïve)
    données = "é"; run(données)
    日本語 = "テスト"; get(日本語)
    x = "😀🚀"; deploy_app(x); run("😀", get("🚀"))
    y = "é"; deploy_app(y)
    z = " ​"; get(z)
    ω = {"κλειδί": run("τιμή")}; ω.get("κλειδί")
    return f"{résumé}—{deploy_app('—')}", "ß".upper(), run("ß")


def tabs():
	deploy_app(1)
	if True:
		run(2)
		x =	get(3)
		y = "	";		deploy_app(y)
		return x, y,	run("	")


class Ünïcödé:
    ѕ = run("Cyrillic dze as an identifier")
    def méthode(self):
        return self.get("ключ"), deploy_app("值")
