AND ({route:String} = '' OR path LIKE {route:String})
