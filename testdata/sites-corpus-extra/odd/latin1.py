# -*- coding: latin-1 -*-
s = 'é'; deploy_app(s)
