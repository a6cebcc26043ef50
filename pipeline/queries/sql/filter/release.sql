AND ({environment:String} = '' OR environment = {environment:String})
AND ({release:String} = '' OR release = {release:String})
