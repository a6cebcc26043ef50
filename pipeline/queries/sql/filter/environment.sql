AND ({environment:String} = '' OR environment = {environment:String})
