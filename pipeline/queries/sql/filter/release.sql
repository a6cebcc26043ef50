-- include: filter/environment
AND ({release:String} = '' OR release = {release:String})
